// needInstance renders a hint in place of a page that works on the
// current instance when none is picked.
import { h } from '../ui.js';

export function needInstance(root, ctx, title) {
  if (ctx.instance) return false;
  root.append(h('h1', {}, title), h('p', { class: 'error', role: 'alert' }, 'Pick an instance first (the selector at the top, or create one under Instances).'));
  return true;
}
