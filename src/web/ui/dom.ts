/**
 * Building the page without innerHTML: every piece of text (printer names, labels, anything that came
 * from a printer or a person) becomes a text node, so it can never turn into markup or script.
 */
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of new FormData(form)) if (typeof value === 'string') values[key] = value;
  return values;
}

/** A message box under a form: `role=alert` so screen readers announce refusals. */
export function messageBox(): HTMLParagraphElement {
  return h('p', { class: 'message', role: 'alert', 'aria-live': 'polite' });
}

export function showMessage(box: HTMLElement, text: string, kind: 'error' | 'ok' = 'error'): void {
  box.textContent = text;
  box.className = `message ${kind}`;
}

/** Runs a card's action; whatever goes wrong is shown in the card's message box, in the owner's words. */
export function errorsShownIn(box: HTMLElement) {
  return async (action: () => Promise<void>): Promise<void> => {
    try {
      await action();
    } catch (error) {
      showMessage(box, (error as Error).message);
    }
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}
