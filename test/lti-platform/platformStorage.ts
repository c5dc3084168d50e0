/**
 * @file The platform side of 1EdTech "LTI Client Side postMessages" and
 * "Platform Storage": a script for the page that embeds the tool (the course
 * page) that answers `lti.capabilities`, `lti.put_data` and `lti.get_data`
 * (also with the older `org.imsglobal.` prefix), keeping values per sender
 * origin, so a tool inside the iframe can keep its OIDC state and nonce
 * without third-party cookies (what Canvas offers with lti_storage_target).
 */

/** Sent as lti_storage_target: the tool posts to its parent frame, the course page. */
export const PLATFORM_STORAGE_TARGET = '_parent';

export const platformStorageScript = `<script>
(() => {
  const values = new Map();
  const subjects = ['lti.capabilities', 'lti.put_data', 'lti.get_data'];
  window.addEventListener('message', (event) => {
    const data = event.data;
    if (!data || typeof data !== 'object' || typeof data.subject !== 'string') return;
    const prefixed = data.subject.startsWith('org.imsglobal.');
    const subject = prefixed ? data.subject.slice('org.imsglobal.'.length) : data.subject;
    if (!subjects.includes(subject) || !event.source) return;
    const reply = (body) => event.source.postMessage({ subject: data.subject + '.response', message_id: data.message_id, ...body }, event.origin);
    const fail = (message) => reply({ error: { code: 'bad_request', message } });
    if (subject === 'lti.capabilities') {
      reply({ supported_messages: subjects.map((s) => ({ subject: s, frame: '${PLATFORM_STORAGE_TARGET}' })) });
      return;
    }
    if (typeof data.key !== 'string' || data.key === '') return fail('key must be a non-empty string');
    const slot = event.origin + '\\n' + data.key;
    if (subject === 'lti.put_data') {
      if (typeof data.value !== 'string') return fail('value must be a string');
      values.set(slot, data.value);
      reply({ key: data.key, value: data.value });
      document.body.dataset.platformStorageWrites = String(Number(document.body.dataset.platformStorageWrites || 0) + 1);
      return;
    }
    if (!values.has(slot)) return fail('there is no value stored for this key');
    reply({ key: data.key, value: values.get(slot) });
  });
})();
</script>`;
