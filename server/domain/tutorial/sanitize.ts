/**
 * @file The last word on what a rendered tutorial page may contain. Lab
 * authors are trusted less than the server (DESIGN.md), and values of
 * variables come from the LMS, so everything markdown-it produces, raw HTML
 * included, passes through this allow-list: no script, no event handler, no
 * style beyond table alignment, no form, no SVG/MathML, no `id` (DOM
 * clobbering), classes only the workspace defines, and every URL through
 * `classifyUrl`. Remote media and `<iframe>` only in a lab an admin marked
 * trusted; `<object>`/`<embed>` never.
 */
import sanitizeHtml from 'sanitize-html';
import { BOX_KINDS } from './boxes.js';
import { CODE_ACTIONS } from './code-actions.js';
import { classifyUrl } from './urls.js';

export interface SanitizePolicy {
  /** Remote (https) images, video, audio and iframes are allowed. */
  trusted: boolean;
  /** Folder of the page inside the lab, for relative URLs. */
  pageDir: string;
  /** URL at which the browser fetches a file of the lab (`assets/x.png`). */
  assetUrl: (path: string) => string;
  problems: string[];
}

const TEXT = ['p', 'br', 'hr', 'blockquote', 'div', 'span', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
const LISTS = ['ul', 'ol', 'li', 'dl', 'dt', 'dd'];
const TABLES = ['table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption'];
const INLINE = ['em', 'strong', 'b', 'i', 'u', 's', 'del', 'ins', 'sub', 'sup', 'mark', 'small', 'abbr', 'q', 'a'];
const CODE = ['pre', 'code', 'kbd', 'samp', 'var', 'button'];
const MEDIA = ['img', 'figure', 'figcaption', 'video', 'audio', 'source', 'track'];
const OTHER = ['aside', 'details', 'summary'];

/**
 * Elements whose content goes with them (it is code, or fallback for something
 * refused). SVG and MathML are not here: their tags go, their text stays, so an
 * unclosed `<svg>` does not swallow the rest of the page.
 */
const DROPPED_WITH_CONTENT = [
  'script',
  'style',
  'textarea',
  'option',
  'select',
  'xmp',
  'noscript',
  'noembed',
  'noframes',
  'plaintext',
  'title',
  'template',
  'object',
  'embed',
  'applet',
  'frameset',
];

const SYSTEM = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const TEXT_ALIGN = { 'text-align': [/^(left|right|center)$/] };

type Attributes = Record<string, string>;
type Transform = (tag: string, attribs: Attributes) => { tagName: string; attribs: Attributes };

export function sanitizePage(html: string, policy: SanitizePolicy): string {
  // Elements a transform refused, by their attribute object (sanitize-html
  // keeps that object on the frame); they go with their content. Renaming
  // them to a forbidden tag instead confuses sanitize-html's closing tags.
  const refused = new WeakSet<Attributes>();
  return sanitizeHtml(html, {
    allowedTags: [...TEXT, ...LISTS, ...TABLES, ...INLINE, ...CODE, ...MEDIA, ...OTHER].concat(
      policy.trusted ? ['iframe'] : [],
    ),
    nonTextTags: policy.trusted ? DROPPED_WITH_CONTENT : [...DROPPED_WITH_CONTENT, 'iframe'],
    disallowedTagsMode: 'discard',
    allowedAttributes: {
      a: ['href', 'title', 'target', 'rel'],
      img: ['src', 'alt', 'title', 'width', 'height', 'loading'],
      video: ['src', 'poster', 'controls', 'loop', 'muted', 'playsinline', 'preload', 'width', 'height', 'title'],
      audio: ['src', 'controls', 'loop', 'muted', 'preload', 'title'],
      source: ['src', 'type'],
      track: ['src', 'kind', 'srclang', 'label', 'default'],
      iframe: ['src', 'width', 'height', 'title', 'allowfullscreen', 'sandbox', 'loading', 'referrerpolicy'],
      th: ['style', 'colspan', 'rowspan', 'scope'],
      td: ['style', 'colspan', 'rowspan'],
      ol: ['start', 'reversed'],
      abbr: ['title'],
      details: ['open'],
      code: ['class'],
      p: ['class'],
      div: ['class'],
      aside: ['class'],
      pre: [{ name: 'data-action', multiple: true, values: [...CODE_ACTIONS] }, 'data-system'],
      button: ['type', 'class', { name: 'data-action', multiple: false, values: [...CODE_ACTIONS] }, 'data-system'],
    },
    allowedClasses: {
      code: ['language-*'],
      p: ['box-title'],
      div: ['code-action'],
      aside: ['box', ...Object.keys(BOX_KINDS).map((kind) => `box-${kind}`)],
      button: ['code-action-button'],
    },
    allowedStyles: { th: TEXT_ALIGN, td: TEXT_ALIGN },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: {},
    allowProtocolRelative: false,
    selfClosing: [...sanitizeHtml.defaults.selfClosing, 'source', 'track', 'wbr'],
    transformTags: transforms(policy, refused),
    exclusiveFilter: (frame) => refused.has(frame.attribs),
  });
}

function transforms(policy: SanitizePolicy, refused: WeakSet<Attributes>): Record<string, Transform> {
  const refuse = (what: string, url: string, reason: string) => policy.problems.push(`${what} "${url}": ${reason}`);

  /** Rewrites one media URL attribute; false when the element has to go. */
  const mediaUrl = (tag: string, attribs: Attributes, name: string): boolean => {
    const raw = attribs[name];
    if (raw === undefined) return true;
    const url = classifyUrl(raw, policy.pageDir);
    if (url.kind === 'asset') {
      attribs[name] = policy.assetUrl(url.path) + url.fragment;
      return true;
    }
    delete attribs[name];
    if (url.kind === 'remote' && policy.trusted && url.secure) {
      attribs[name] = url.url;
      return true;
    }
    const reason =
      url.kind === 'refused'
        ? url.reason
        : url.kind === 'remote'
          ? policy.trusted
            ? 'remote media must use https'
            : 'remote media is allowed only in a lab an admin marked trusted; put the file under assets/'
          : 'not a media file';
    refuse(tag, raw, reason);
    return false;
  };

  const media: Transform = (tag, attribs) => {
    const kept = mediaUrl(tag, attribs, 'src') && mediaUrl(tag, attribs, 'poster');
    // A <video>/<audio> without its own src may still play its <source>s.
    const keep = kept || ((tag === 'video' || tag === 'audio') && attribs.src === undefined);
    if (!keep) refused.add(attribs);
    return { tagName: tag, attribs };
  };

  const withSystem: Transform = (tag, attribs) => {
    if (attribs['data-system'] !== undefined && !SYSTEM.test(attribs['data-system'])) delete attribs['data-system'];
    if (tag === 'button') attribs.type = 'button';
    return { tagName: tag, attribs };
  };

  return {
    a: (tag, attribs) => {
      const raw = attribs.href;
      delete attribs.target;
      delete attribs.rel;
      if (raw === undefined) return { tagName: tag, attribs };
      const url = classifyUrl(raw, policy.pageDir);
      delete attribs.href;
      if (url.kind === 'refused') refuse('link', raw, url.reason);
      else if (url.kind === 'asset') Object.assign(attribs, { href: policy.assetUrl(url.path) + url.fragment });
      else attribs.href = url.url;
      // The page lives in an LMS iframe: anything that leaves it opens a new tab.
      if (url.kind === 'asset' || url.kind === 'remote')
        Object.assign(attribs, { target: '_blank', rel: 'noopener noreferrer' });
      return { tagName: tag, attribs };
    },
    img: media,
    video: media,
    audio: media,
    source: media,
    track: media,
    iframe: (tag, attribs) => {
      const raw = attribs.src ?? '';
      const url = classifyUrl(raw, policy.pageDir);
      if (!policy.trusted || url.kind !== 'remote' || !url.secure) {
        refuse('iframe', raw, policy.trusted ? 'an iframe must load an https URL' : 'iframes need a trusted lab');
        // Untrusted: not an allowed tag, dropped with its content anyway.
        refused.add(attribs);
        return { tagName: tag, attribs };
      }
      return {
        tagName: tag,
        attribs: {
          ...attribs,
          src: url.url,
          sandbox: 'allow-scripts allow-same-origin allow-popups allow-presentation',
          loading: 'lazy',
          referrerpolicy: 'strict-origin-when-cross-origin',
        },
      };
    },
    pre: withSystem,
    button: withSystem,
  };
}
