/**
 * @file The Origin check of gateway sockets: a page on another site must not
 * open a console with a ticket it got hold of. LMS platforms embed the tool
 * in an iframe, but the iframe's own origin is still ours, so the allow-list
 * is the public URL's origin plus whatever the operator adds
 * (GATEWAY_ORIGINS). Clients that are not browsers send no Origin; they
 * cannot be tricked by a page, and still need a ticket.
 */

export class OriginPolicy {
  private readonly allowed = new Set<string>();

  constructor(urls: Iterable<string>) {
    for (const url of urls) this.allow(url);
  }

  /** Adds the origin of a URL (scheme, host and port); ignores what is not a URL. */
  allow(url: string): void {
    try {
      this.allowed.add(new URL(url).origin);
    } catch {
      // not a URL: nothing to allow
    }
  }

  permits(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    return this.allowed.has(origin);
  }
}
