// Small DOM helpers: build elements, show errors where they happen, ask
// for confirmation in an accessible <dialog>.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// errorBox is a live region a page writes its errors into, next to what
// failed.
export function errorBox(id) {
  return h('p', { class: 'error', role: 'alert', id });
}

export function showError(box, err) {
  box.textContent = err ? String(err) : '';
}

export function okBox(id) {
  return h('p', { class: 'ok', role: 'status', id });
}

export function field(label, input) {
  return h('label', {}, label, input);
}

export function check(label, name, checked) {
  return h('label', { class: 'check' }, h('input', { type: 'checkbox', name, checked: !!checked }), label);
}

export function table(headers, rows, id) {
  return h('div', { class: 'table-wrap' },
    h('table', { id }, h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
}

export function time(ms) {
  if (!ms) return '';
  return new Date(Number(ms)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// confirmAction asks in the page's dialog; it answers true on Confirm.
export function confirmAction(text) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.returnValue = '';
    dlg.showModal();
    document.getElementById('confirm-cancel').focus();
  });
}

// copyButton copies text, with a fallback where the Clipboard API is not
// offered (plain http on another host than localhost).
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'secondary' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = h('textarea', {}, text);
      document.body.append(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    b.textContent = 'Copied';
    setTimeout(() => { b.textContent = label; }, 1500);
  });
  return b;
}
