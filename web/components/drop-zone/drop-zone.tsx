import { useEffect, useRef, useState } from 'preact/hooks';
import { collectDroppedFiles, type PickedFile } from '../../lib/dropped-files.ts';

interface DropZoneProps {
  onFiles(files: PickedFile[]): void;
  /** Smaller once files are listed below it. */
  compact: boolean;
}

/** How long the highlight stays after the last dragover (browsers fire it every ~50 ms while hovering). */
const DRAG_HIGHLIGHT_MS = 150;

/**
 * Where files come in: drop files or folders anywhere on the page, or pick them
 * with the two buttons (real buttons: focusable, Enter and Space open the picker).
 */
export function DropZone({ onFiles, compact }: DropZoneProps) {
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const onFilesRef = useRef(onFiles);
  onFilesRef.current = onFiles;

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
    // On the window, so a drop that misses the zone is scanned too, and never opens the file in the tab.
    const onDragOver = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
      setDragging(true);
      clearTimeout(timer);
      timer = setTimeout(() => setDragging(false), DRAG_HIGHLIGHT_MS);
    };
    const onDrop = (event: DragEvent) => {
      if (!carriesFiles(event) || !event.dataTransfer) return;
      event.preventDefault();
      clearTimeout(timer);
      setDragging(false);
      collectDroppedFiles(event.dataTransfer).then(
        (result) => {
          setNotice(result.truncated ?? null);
          onFilesRef.current(result.files);
        },
        (error: unknown) => setNotice(`Some dropped items could not be read: ${error instanceof Error ? error.message : String(error)}`),
      );
    };
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('drop', onDrop);
    return () => {
      clearTimeout(timer);
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('drop', onDrop);
    };
  }, []);

  const onPicked = (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const files = Array.from(input.files ?? [], (file) => ({ file }));
    // Reset, so picking the same file again starts a new scan.
    input.value = '';
    setNotice(null);
    onFiles(files);
  };

  return (
    <section
      class={`drop-zone${dragging ? ' drop-zone--active' : ''}${compact ? ' drop-zone--compact' : ''}`}
      data-testid="drop-zone"
      aria-labelledby="drop-zone-title"
    >
      <h2 id="drop-zone-title" class="drop-zone__title">
        {dragging ? 'Release to inspect' : 'Drop model files or folders here'}
      </h2>
      {compact ? null : (
        <p class="drop-zone__hint">
          Checkpoints, weights and whole model folders: safetensors, GGUF, PyTorch, pickle, NumPy and more. For each file:
          a verdict, findings with byte offsets, tensors, metadata and its SHA-256. The format is read from the bytes, not
          the file name. A SHA256SUMS, <code>*.sha256</code>, Git LFS pointer or <code>model.sig</code> dropped with the files is read
          as expected hashes.
        </p>
      )}
      <div class="drop-zone__actions">
        <button type="button" class="button button--primary" onClick={() => filesInput.current?.click()} data-testid="choose-files">
          Choose files…
        </button>
        <button type="button" class="button" onClick={() => folderInput.current?.click()} data-testid="choose-folder">
          Choose folder…
        </button>
      </div>
      <p class="drop-zone__privacy">
        <strong>Nothing is uploaded.</strong> Files are read inside this tab; the page is not allowed to make network requests.
      </p>
      {notice ? (
        <p class="drop-zone__notice" role="status">
          {notice}
        </p>
      ) : null}
      <input ref={filesInput} type="file" name="files" multiple hidden onChange={onPicked} data-testid="file-input" />
      <input ref={folderInput} type="file" name="folder" multiple hidden onChange={onPicked} data-testid="folder-input" {...{ webkitdirectory: true }} />
    </section>
  );
}
