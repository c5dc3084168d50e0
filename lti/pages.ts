/**
 * @file The few HTML pages the tool shows inside the LMS frame before the
 * workspace takes over: a refused launch (status, machine-readable code, a
 * sentence to act on) and the lab picker of deep linking. Every value is
 * escaped.
 */

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}.error{color:#a00}
li{margin:.5rem 0}button{font:inherit}</style></head>
<body>
${body}
</body>
</html>
`;
}

export function errorPage(code: string, message: string): string {
  return page(
    'Lab Orchestrator: launch refused',
    `<h1>This launch was refused</h1>
<p class="error" id="error" data-error="${escapeHtml(code)}">${escapeHtml(message)}</p>
<p>Go back to the course and open the activity again. If it keeps failing, tell your instructor the code <code>${escapeHtml(code)}</code>.</p>`,
  );
}

export interface LabChoice {
  name: string;
  title: string;
  points: number;
}

/** The lab picker: one form per lab, each carrying the ltik (no cookie needed). */
export function labPickerPage(action: string, ltik: string, labs: LabChoice[]): string {
  const items = labs.length
    ? labs
        .map(
          (lab) => `<li data-lab="${escapeHtml(lab.name)}"><form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="ltik" value="${escapeHtml(ltik)}"><input type="hidden" name="lab" value="${escapeHtml(lab.name)}">
<strong>${escapeHtml(lab.title)}</strong> <code>${escapeHtml(lab.name)}</code> · ${lab.points} point(s)
<button type="submit">Add this lab</button></form></li>`,
        )
        .join('\n')
    : '<li>No labs yet: import one first (<code>lab-orchestrator lab import</code>).</li>';
  return page('Lab Orchestrator: pick a lab', `<h1>Pick a lab for this activity</h1>\n<ul id="labs">${items}</ul>`);
}
