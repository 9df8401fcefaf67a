import { useRef, useState } from 'preact/hooks';
import type { PickedFile } from '../../lib/dropped-files.ts';

interface ExpectationsInputProps {
  /** Pasted text, not empty. */
  onPaste(text: string): void;
  /** Files chosen as expected hashes: all of them are read as such, none is scanned. */
  onFiles(files: PickedFile[]): void;
}

/** Where expected hashes come in by hand: a paste box, and a picker for SHA256SUMS, LFS pointers, model.sig and listings. */
export function ExpectationsInput({ onPaste, onFiles }: ExpectationsInputProps) {
  const [text, setText] = useState('');
  const fileInput = useRef<HTMLInputElement>(null);

  const submit = (event: Event) => {
    event.preventDefault();
    if (text.trim() === '') return;
    onPaste(text);
    setText('');
  };

  const onPicked = (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const files = Array.from(input.files ?? [], (file) => ({ file }));
    input.value = '';
    onFiles(files);
  };

  return (
    <form class="expectations-input" onSubmit={submit}>
      <label class="expectations-input__label" for="expected-hashes">
        Paste a SHA-256, or a listing (SHA256SUMS, a Git LFS pointer, a model-signing bundle)
      </label>
      <textarea
        id="expected-hashes"
        name="expected-hashes"
        class="expectations-input__text"
        rows={3}
        spellcheck={false}
        autocomplete="off"
        value={text}
        onInput={(event) => setText((event.currentTarget as HTMLTextAreaElement).value)}
        placeholder="e.g. 3f7a…c21e  model.safetensors"
        data-testid="expected-hash-input"
      />
      <div class="expectations-input__actions">
        <button type="submit" class="button" disabled={text.trim() === ''} data-testid="add-expected-hash">
          Compare
        </button>
        <button type="button" class="button" onClick={() => fileInput.current?.click()} data-testid="choose-expectation-files">
          Choose hash files…
        </button>
        <span class="muted">
          Files named SHA256SUMS, <code>*.sha256</code> or <code>*.sig</code>, and Git LFS pointers, are also recognised when dropped
          with the model.
        </span>
      </div>
      <input ref={fileInput} type="file" name="expectation-files" multiple hidden onChange={onPicked} data-testid="expectation-file-input" />
    </form>
  );
}
