/**
 * @file Minimal HTML for the platform's browser-facing answers: pages, error
 * pages and auto-submitting forms (the way LTI moves a browser between the
 * platform and the tool). Every value is escaped.
 */

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
iframe { width: 100%; height: 70vh; border: 1px solid #888; }
table { border-collapse: collapse; } td, th { border: 1px solid #aaa; padding: 0.25rem 0.5rem; }
.error { color: #a00; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** A page that POSTs `fields` to `action` as soon as it loads (a button if scripts are off). */
export function autoSubmitForm(action: string, fields: Record<string, string>, title = 'Continue'): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return page(
    title,
    `<form id="auto-submit" method="post" action="${escapeHtml(action)}">
${inputs}
<noscript><button type="submit">${escapeHtml(title)}</button></noscript>
</form>
<script>document.getElementById('auto-submit').submit();</script>`,
  );
}

/** An error page whose code is machine-readable (`data-error`) for tests. */
export function errorPage(code: string, description: string): string {
  return page(
    'Error',
    `<h1>Error</h1>
<p class="error" id="error" data-error="${escapeHtml(code)}">${escapeHtml(code)}: ${escapeHtml(description)}</p>`,
  );
}
