/**
 * @file The desktop console: noVNC's RFB on the gateway's desktop socket
 * (raw RFB in binary frames). The socket is made here and handed to noVNC,
 * so that the close code and reason stay readable (noVNC only says
 * "disconnected"). Scaled to the pane; the clipboard goes both ways through
 * the text box beside it (browsers let a page read the clipboard only on a
 * user gesture). The VNC server of the example images runs with
 * -AlwaysShared: an instructor watching does not throw the learner out.
 */
import RFB from '@novnc/novnc';
import { h } from '../dom.js';
import { ConsoleConnection, type StatusLevel } from './connection.js';

export class DesktopConsole {
  readonly element: HTMLElement;
  private readonly screen: HTMLElement;
  private readonly clipboard: HTMLTextAreaElement;
  private rfb: RFB | undefined;
  private readonly connection: ConsoleConnection;

  constructor(
    instanceId: string,
    system: string,
    status: (text: string, level: StatusLevel, action?: { label: string; run: () => void }) => void,
  ) {
    this.screen = h('div.desktop-screen', { 'data-console': 'desktop', 'data-system': system });
    this.clipboard = h('textarea.clipboard', {
      rows: 2,
      placeholder: 'Clipboard: text copied in the desktop appears here; type or paste here and press "Send"',
      'aria-label': 'Desktop clipboard',
    });
    this.element = h(
      'div.console',
      {},
      h(
        'div.console-tools',
        {},
        this.clipboard,
        h('button.small', { type: 'button', onclick: () => this.sendClipboard() }, 'Send to desktop'),
        h('button.small', { type: 'button', onclick: () => this.rfb?.sendCtrlAltDel() }, 'Ctrl+Alt+Del'),
      ),
      this.screen,
    );
    this.connection = new ConsoleConnection({
      instanceId,
      system,
      console: 'desktop',
      status,
      attach: (ws) => this.attach(ws),
    });
    this.connection.start();
  }

  private attach(ws: WebSocket): void {
    this.rfb?.disconnect();
    this.screen.replaceChildren();
    const rfb = new RFB(this.screen, ws, { shared: true });
    rfb.scaleViewport = true;
    rfb.resizeSession = false;
    rfb.background = '#2b2b2b';
    rfb.addEventListener('clipboard', (e) => {
      this.clipboard.value = (e as CustomEvent<{ text: string }>).detail.text;
    });
    this.rfb = rfb;
  }

  /** Puts text into the desktop's clipboard (the tutorial's "Copy" buttons), as "Send to desktop" does. */
  paste(text: string): void {
    this.clipboard.value = text;
    this.sendClipboard();
  }

  private sendClipboard(): void {
    if (!this.rfb) return;
    this.rfb.clipboardPasteFrom(this.clipboard.value);
    this.rfb.focus();
  }

  refit(): void {
    // noVNC rescales on window resizes; a pane that was hidden needs a nudge.
    if (this.rfb) this.rfb.scaleViewport = true;
  }

  focus(): void {
    this.rfb?.focus();
  }

  dispose(): void {
    this.connection.dispose();
    this.rfb?.disconnect();
    this.element.remove();
  }
}
