// The persons panel: every person with their face count (GET /v1/persons), and deleting one
// (DELETE /v1/faces?person=NAME, a writer key) after a confirmation in a modal dialog.
import { callApi } from './api.js';

const plural = (n, word) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

/** Owns the list it shows; `onDeleted(person, reply)` runs after a delete (reply: its `deleted` count and `seq`), `onError(err)` on any failure. */
export class PersonsPanel {
  constructor({ list, text, heading, dialog, key, onDeleted, onError }) {
    this.list = list;
    this.text = text;
    this.heading = heading;
    this.dialog = dialog;
    this.key = key;
    this.onDeleted = onDeleted;
    this.onError = onError;
    // Refreshes overlap (a key typed, an enroll, a delete): only the latest one asked is shown.
    this.asked = 0;
  }

  /** Asks the gateway again and shows what it answers (the first page: up to 1,000 persons). */
  async refresh() {
    if (!this.key()) {
      this.asked++;
      this.show([], 'Enter an API key to see the persons.');
      return;
    }
    const ask = ++this.asked;
    try {
      const reply = await callApi('GET', '/v1/persons', this.key());
      if (ask !== this.asked) return;
      const notes = [`${plural(reply.persons.length, 'person')}, ${plural(reply.unnamed, 'face')} without a person`];
      if (reply.next !== undefined) notes.push('more persons than shown');
      if (reply.partial) notes.push('a shard did not answer: some may be missing');
      this.show(reply.persons, `${notes.join('; ')}.`);
    } catch (err) {
      if (ask === this.asked) this.show([], `Persons: ${err.message}`);
    }
  }

  show(persons, text) {
    this.text.textContent = text;
    this.list.replaceChildren(
      ...persons.map(({ person, faces }) => {
        const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'delete', textContent: 'Delete' });
        remove.setAttribute('aria-label', `Delete ${person}`);
        remove.addEventListener('click', () => void this.confirmAndDelete(person, faces));
        const name = Object.assign(document.createElement('span'), { className: 'person', textContent: person });
        const count = Object.assign(document.createElement('span'), { className: 'count', textContent: plural(faces, 'face') });
        const item = document.createElement('li');
        item.dataset.person = person;
        item.append(name, count, remove);
        return item;
      }),
    );
  }

  /** The dialog's answer: true when "Delete" was chosen (Escape or "Cancel": false). Cancel has the focus first. */
  confirm(person, faces) {
    const dialog = this.dialog;
    dialog.querySelector('.confirm-text').textContent = `Delete ${person} and all ${plural(faces, 'face')} stored for them? This cannot be undone.`;
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'delete'), { once: true }));
  }

  async confirmAndDelete(person, faces) {
    if (!(await this.confirm(person, faces))) return;
    try {
      const reply = await callApi('DELETE', `/v1/faces?person=${encodeURIComponent(person)}`, this.key(), undefined, 'deleting');
      // The list is rebuilt: keep a keyboard user's place at the panel's heading.
      this.heading.focus();
      await this.onDeleted(person, reply);
    } catch (err) {
      this.onError(err);
    }
  }
}
