/** A tiny element builder: h('button.primary', { onclick }, 'Start'). Text children are escaped. */
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;
type Child = Node | string | number | false | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(
  spec: K | `${K}.${string}` | `${K}#${string}`,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const tag = /^[a-z][a-z0-9]*/.exec(spec)?.[0] ?? 'div';
  const el = document.createElement(tag as K);
  const id = /#([\w-]+)/.exec(spec)?.[1];
  if (id) el.id = id;
  const classes = [...spec.matchAll(/\.([\w-]+)/g)].map((m) => m[1]);
  if (classes.length) el.className = classes.join(' ');
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  for (const child of children)
    if (child !== null && child !== undefined && child !== false)
      el.append(typeof child === 'object' ? child : String(child));
}
