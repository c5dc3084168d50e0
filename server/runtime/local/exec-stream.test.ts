import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Demultiplexer, ExecBridge, OutputCollector, STREAM_STDERR, STREAM_STDOUT } from './exec-stream.js';

const frame = (stream: number, text: string | Buffer) => {
  const payload = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('exec stream demultiplexing', () => {
  it('splits frames however the bytes arrive', () => {
    const frames: Array<[number, string]> = [];
    const demux = new Demultiplexer((stream, payload) => frames.push([stream, payload.toString()]));
    const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world')]);
    for (const byte of bytes) demux.push(Buffer.from([byte]));
    expect(frames).toEqual([
      [1, 'hello '],
      [2, 'oops'],
      [1, 'world'],
    ]);
  });

  it('collects stdout and stderr apart, up to a limit', () => {
    const output = new OutputCollector(8);
    output.demux.push(Buffer.concat([frame(1, 'abcdef'), frame(2, 'e'), frame(1, 'ghijkl')]));
    expect(output.text(STREAM_STDOUT)).toBe('abcdefgh');
    expect(output.text(STREAM_STDERR)).toBe('e');
  });

  it('bridges raw bytes: stdout unframed out, writes in as they are, stderr aside', async () => {
    const socket = new PassThrough();
    const written: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => written.push(c));
    // A duplex whose writes go to `sink` and whose reads come from `socket`.
    const duplex = Object.assign(socket, {
      write: (chunk: Buffer, cb?: () => void) => sink.write(chunk, cb),
    });
    const errors: string[] = [];
    const bridge = new ExecBridge(duplex, (text) => errors.push(text));
    const binary = Buffer.from([0, 1, 2, 255, 10, 13]);
    socket.push(Buffer.concat([frame(STREAM_STDOUT, 'RFB 003.008\n'), frame(STREAM_STDERR, 'warn'), frame(1, binary)]));
    socket.push(null);
    const chunks: Buffer[] = [];
    for await (const chunk of bridge) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat([Buffer.from('RFB 003.008\n'), binary]));
    expect(errors).toEqual(['warn']);
  });
});
