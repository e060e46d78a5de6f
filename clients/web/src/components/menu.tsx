/**
 * The app's menu button and confirmation dialog. The menu opens on click, Enter, Space or
 * ArrowDown; arrows move, Escape closes and gives focus back to its button.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

export interface MenuItem {
  label: string;
  icon?: ReactNode;
  danger?: boolean;
  disabled?: boolean;
  run: () => void;
}

export function MenuButton({ label, icon, items, className }: { label: string; icon: ReactNode; items: MenuItem[]; className?: string }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();
  const focusItem = (i: number) => {
    const all = [...(list.current?.querySelectorAll<HTMLButtonElement>('button:not(:disabled)') ?? [])];
    all[(i + all.length) % all.length]?.focus();
  };
  useEffect(() => {
    if (!open) return;
    focusItem(0);
    const outside = (e: PointerEvent) => {
      if (!list.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  return (
    <span className={`menu-anchor ${className ?? ''}`}>
      <button
        ref={button}
        type="button"
        className="icon-button"
        aria-label={label}
        title={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        {icon}
      </button>
      {open && (
        <ul
          ref={list}
          id={id}
          className="menu dropdown"
          role="menu"
          aria-label={label}
          onKeyDown={(e) => {
            const all = [...(list.current?.querySelectorAll<HTMLButtonElement>('button:not(:disabled)') ?? [])];
            const at = all.indexOf(document.activeElement as HTMLButtonElement);
            if (e.key === 'ArrowDown') focusItem(at + 1);
            else if (e.key === 'ArrowUp') focusItem(at - 1);
            else if (e.key === 'Home') focusItem(0);
            else if (e.key === 'End') focusItem(-1);
            else if (e.key === 'Escape' || e.key === 'Tab') close();
            else return;
            e.preventDefault();
          }}
        >
          {items.map((item) => (
            <li key={item.label} role="none">
              <button
                type="button"
                role="menuitem"
                className={item.danger ? 'danger' : undefined}
                disabled={item.disabled}
                onClick={() => {
                  close();
                  item.run();
                }}
              >
                {item.icon}
                <span>{item.label}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}

/** A modal question with one confirming button; Escape or Cancel answers no. */
export function ConfirmDialog({ title, children, confirmLabel, danger, onAnswer }: { title: string; children: ReactNode; confirmLabel: string; danger?: boolean; onAnswer: (yes: boolean) => void }) {
  return (
    <ModalForm title={title} confirmLabel={confirmLabel} danger={danger} focusSubmit canSubmit onSubmit={() => onAnswer(true)} onCancel={() => onAnswer(false)}>
      <div>{children}</div>
    </ModalForm>
  );
}

/** A modal form: a title, its fields, Cancel and one submitting button; Escape or Cancel answers null. */
function ModalForm({
  title,
  confirmLabel,
  canSubmit,
  onSubmit,
  onCancel,
  children,
  danger,
  focusSubmit,
}: {
  title: string;
  confirmLabel: string;
  canSubmit: boolean;
  onSubmit: () => void;
  onCancel: () => void;
  children: ReactNode;
  /** The submitting button warns (deleting, signing out everywhere). */
  danger?: boolean;
  /** Focus starts on the submitting button (a question with no field). */
  focusSubmit?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onCancel={onCancel}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (canSubmit) onSubmit();
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
        <div className="dialog-actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className={danger ? 'danger-button' : 'primary'} disabled={!canSubmit} autoFocus={focusSubmit}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A modal asking for one line of text (a name); Escape or Cancel answers null. */
export function PromptDialog({
  title,
  label,
  initial,
  confirmLabel,
  maxLength,
  onAnswer,
}: {
  title: string;
  label: string;
  initial: string;
  confirmLabel: string;
  maxLength: number;
  onAnswer: (value: string | null) => void;
}) {
  const [value, setValue] = useState(initial);
  const fieldId = useId();
  return (
    <ModalForm title={title} confirmLabel={confirmLabel} canSubmit={value.trim() !== ''} onSubmit={() => onAnswer(value.trim())} onCancel={() => onAnswer(null)}>
      <label htmlFor={fieldId}>{label}</label>
      <input id={fieldId} value={value} maxLength={maxLength} onChange={(e) => setValue(e.target.value)} autoFocus required />
    </ModalForm>
  );
}

/** A modal offering a choice from a list; Escape or Cancel answers null. */
export function ChoiceDialog({
  title,
  label,
  options,
  initial,
  confirmLabel,
  onAnswer,
}: {
  title: string;
  label: string;
  options: { value: string; label: string }[];
  initial: string;
  confirmLabel: string;
  onAnswer: (value: string | null) => void;
}) {
  const [value, setValue] = useState(initial);
  const fieldId = useId();
  return (
    <ModalForm title={title} confirmLabel={confirmLabel} canSubmit onSubmit={() => onAnswer(value)} onCancel={() => onAnswer(null)}>
      <label htmlFor={fieldId}>{label}</label>
      <select id={fieldId} value={value} onChange={(e) => setValue(e.target.value)} autoFocus>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </ModalForm>
  );
}
