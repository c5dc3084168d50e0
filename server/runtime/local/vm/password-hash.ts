/**
 * @file SHA-512 crypt (`$6$`, Ulrich Drepper's specification, as glibc,
 * busybox and `chpasswd -e` read it). A restored VM gets its user's password
 * as this hash: computing it on the host spares the guest a hash of 5000
 * rounds under software emulation, which was the slowest part of a restore.
 */
import { createHash, randomBytes } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ROUNDS = 5000; // the default: the hash carries no rounds= field
const ORDER = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
] as const;

const sha512 = (...parts: Buffer[]) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `length` bytes of `block` repeated. */
const repeat = (block: Buffer, length: number) => {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += block.length) block.copy(out, i, 0, Math.min(block.length, length - i));
  return out;
};

function encode(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

/** `$6$salt$hash` of `password`; a random 16-character salt unless given. */
export function sha512Crypt(password: string, salt?: string): string {
  const s = Buffer.from((salt ?? [...randomBytes(16)].map((b) => ITOA64[b & 0x3f]).join('')).slice(0, 16), 'utf8');
  const p = Buffer.from(password, 'utf8');
  const b = sha512(p, s, p);
  const a = createHash('sha512').update(p).update(s).update(repeat(b, p.length));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  let c = a.digest();
  const pBytes = repeat(sha512(...Array<Buffer>(p.length).fill(p)), p.length);
  const sBytes = repeat(sha512(...Array<Buffer>(16 + (c[0] as number)).fill(s)), s.length);
  for (let i = 0; i < ROUNDS; i++) {
    const h = createHash('sha512');
    h.update(i & 1 ? pBytes : c);
    if (i % 3) h.update(sBytes);
    if (i % 7) h.update(pBytes);
    h.update(i & 1 ? c : pBytes);
    c = h.digest();
  }
  let out = '';
  for (const [x, y, z] of ORDER) out += encode(c[x] as number, c[y] as number, c[z] as number, 4);
  out += encode(0, 0, c[63] as number, 2);
  return `$6$${s.toString('utf8')}$${out}`;
}
