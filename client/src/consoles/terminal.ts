/**
 * @file The terminal console: xterm.js on the gateway's terminal socket
 * (protocol: server/gateway/protocol.ts). Fits its pane and sends the size;
 * copy with Ctrl+Shift+C (or selecting and using the Copy button), paste with
 * Ctrl+Shift+V (or Ctrl+V, the browser's own paste).
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { RESIZE, type ResizeMessage } from '../../../server/gateway/protocol.js';
import { h } from '../dom.js';
import { ConsoleConnection, type StatusLevel } from './connection.js';

const encoder = new TextEncoder();

export class TerminalConsole {
  readonly element: HTMLElement;
  private readonly term: Terminal;
  private readonly fit = new FitAddon();
  private readonly connection: ConsoleConnection;
  private readonly observer: ResizeObserver;

  constructor(
    instanceId: string,
    system: string,
    status: (text: string, level: StatusLevel, action?: { label: string; run: () => void }) => void,
  ) {
    const screen = h('div.terminal-screen', { 'data-console': 'terminal', 'data-system': system });
    this.element = h(
      'div.console',
      {},
      h(
        'div.console-tools',
        {},
        h(
          'button.small',
          { type: 'button', onclick: () => void this.copy(), title: 'Copy the selection (Ctrl+Shift+C)' },
          'Copy',
        ),
        h('button.small', { type: 'button', onclick: () => void this.paste(), title: 'Paste (Ctrl+Shift+V)' }, 'Paste'),
      ),
      screen,
    );
    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      scrollback: 5000,
      screenReaderMode: false,
      theme: { background: '#1e1e1e' },
    });
    this.term.loadAddon(this.fit);
    this.term.open(screen);
    this.term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC') {
        void this.copy();
        return false;
      }
      if (e.code === 'KeyV') {
        void this.paste();
        return false;
      }
      return true;
    });
    this.term.onData((data) => this.connection.socket?.send(encoder.encode(data)));
    this.term.onResize(() => this.sendSize());
    this.observer = new ResizeObserver(() => this.refit());
    this.observer.observe(screen);

    this.connection = new ConsoleConnection({
      instanceId,
      system,
      console: 'terminal',
      status,
      attach: (ws) => {
        ws.addEventListener('open', () => {
          this.refit();
          this.sendSize();
          this.term.focus();
        });
        ws.addEventListener('message', (event) => {
          if (event.data instanceof ArrayBuffer) this.term.write(new Uint8Array(event.data));
        });
      },
    });
    this.connection.start();
  }

  /** Call when the pane becomes visible or changes size. */
  refit(): void {
    if (this.element.offsetParent === null) return; // hidden: nothing to measure
    try {
      this.fit.fit();
    } catch {
      // not laid out yet
    }
  }

  focus(): void {
    this.term.focus();
  }

  /** Types text as if the user did (the tutorial's "Run" buttons); waits a few seconds for the socket to open. */
  type(text: string): void {
    const data = encoder.encode(text.replace(/\r?\n/g, '\r'));
    const deadline = Date.now() + 15_000;
    const send = () => {
      const socket = this.connection.socket;
      if (socket?.readyState === WebSocket.OPEN) socket.send(data);
      else if (Date.now() < deadline) window.setTimeout(send, 200);
    };
    send();
  }

  private sendSize(): void {
    const message: ResizeMessage = { type: RESIZE, cols: this.term.cols, rows: this.term.rows };
    this.connection.socket?.send(JSON.stringify(message));
  }

  private async copy(): Promise<void> {
    const text = this.term.getSelection();
    if (text) await navigator.clipboard?.writeText(text).catch(() => {});
    this.term.focus();
  }

  private async paste(): Promise<void> {
    const text = await navigator.clipboard?.readText().catch(() => '');
    if (text) this.term.paste(text);
    this.term.focus();
  }

  dispose(): void {
    this.observer.disconnect();
    this.connection.dispose();
    this.term.dispose();
    this.element.remove();
  }
}
