/**
 * Toasts: short messages at the bottom of the screen, optionally with one action (Undo).
 * Announced politely to screen readers; an action keeps its toast up longer, and pointer
 * hover or keyboard focus keeps it up until it is left.
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

export interface ToastInput {
  message: string;
  tone?: 'info' | 'error';
  action?: { label: string; run: () => void };
  /** Called when the toast goes away without its action having run. */
  onExpire?: () => void;
}

interface Toast extends ToastInput {
  id: number;
}

const ToastContext = createContext<(t: ToastInput) => void>(() => undefined);

/** Shows a toast. */
export function useToast(): (t: ToastInput) => void {
  return useContext(ToastContext);
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const show = useCallback((t: ToastInput) => setToasts((all) => [...all, { ...t, id: next.current++ }]), []);
  const current = useRef<Toast[]>([]);
  current.current = toasts;
  const close = useCallback((id: number, ranAction: boolean) => {
    const t = current.current.find((x) => x.id === id);
    if (!t) return;
    current.current = current.current.filter((x) => x.id !== id);
    setToasts(current.current);
    if (!ranAction) t.onExpire?.();
  }, []);
  return (
    <ToastContext.Provider value={show}>
      {children}
      <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
        {toasts.map((t) => (
          <ToastItem key={t.id} toast={t} onClose={(ran) => close(t.id, ran)} />
        ))}
      </div>
    </ToastContext.Provider>
  );
}

function ToastItem({ toast, onClose }: { toast: Toast; onClose: (ranAction: boolean) => void }) {
  const [held, setHeld] = useState(false);
  useEffect(() => {
    if (held) return;
    const timer = setTimeout(() => onClose(false), toast.action ? 8000 : 5000);
    return () => clearTimeout(timer);
  }, [held, toast.action, onClose]);
  return (
    <div
      className={`toast ${toast.tone ?? 'info'}`}
      onMouseEnter={() => setHeld(true)}
      onMouseLeave={() => setHeld(false)}
      onFocus={() => setHeld(true)}
      onBlur={() => setHeld(false)}
      role={toast.tone === 'error' ? 'alert' : undefined}
    >
      <span>{toast.message}</span>
      {toast.action && (
        <button
          type="button"
          className="link"
          onClick={() => {
            toast.action!.run();
            onClose(true);
          }}
        >
          {toast.action.label}
        </button>
      )}
      <button type="button" className="link dismiss" aria-label="Dismiss" onClick={() => onClose(false)}>
        ×
      </button>
    </div>
  );
}
