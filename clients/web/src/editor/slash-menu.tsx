/**
 * The slash menu: typing `/` offers the blocks (filtered as you type), Up/Down choose,
 * Enter or Tab inserts, Escape closes. Not offered inside code, where `/` is just a slash.
 */
import { Extension, type Editor, type Range } from '@tiptap/core';
import { PluginKey } from '@tiptap/pm/state';
import { ReactRenderer } from '@tiptap/react';
import Suggestion, { type SuggestionKeyDownProps, type SuggestionProps } from '@tiptap/suggestion';
import { useEffect, useImperativeHandle, useState, type Ref } from 'react';
import { matchBlocks, shortcutLabel, type Block } from './blocks.js';
import { matchFileBlock } from './files.js';

interface ListHandle {
  onKeyDown: (e: KeyboardEvent) => boolean;
}

interface ListProps {
  items: Block[];
  command: (block: Block) => void;
  ref?: Ref<ListHandle>;
}

function SlashList({ items, command, ref }: ListProps) {
  const [index, setIndex] = useState(0);
  useEffect(() => setIndex(0), [items]);
  useImperativeHandle(ref, () => ({
    onKeyDown(e) {
      if (items.length === 0) return false;
      if (e.key === 'ArrowDown') setIndex((i) => (i + 1) % items.length);
      else if (e.key === 'ArrowUp') setIndex((i) => (i - 1 + items.length) % items.length);
      else if (e.key === 'Enter' || e.key === 'Tab') command(items[Math.min(index, items.length - 1)]!);
      else return false;
      return true;
    },
  }));
  useEffect(() => {
    document.getElementById(`slash-item-${index}`)?.scrollIntoView({ block: 'nearest' });
  }, [index]);
  return (
    <div className="menu slash-menu" data-testid="slash-menu">
      {items.length === 0 ? (
        <p className="menu-empty">No block matches</p>
      ) : (
        <ul role="listbox" aria-label="Insert a block">
          {items.map((b, i) => (
            <li
              key={b.id}
              id={`slash-item-${i}`}
              role="option"
              aria-selected={i === index}
              className={i === index ? 'active' : undefined}
              onMouseEnter={() => setIndex(i)}
              onMouseDown={(e) => {
                e.preventDefault();
                command(b);
              }}
            >
              <b.icon aria-hidden size={18} />
              <span className="menu-label">{b.label}</span>
              {(b.markdown || b.shortcut) && <kbd>{b.markdown ?? shortcutLabel(b.shortcut!)}</kbd>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export const SlashCommand = Extension.create({
  name: 'slashCommand',
  addProseMirrorPlugins() {
    return [
      Suggestion<Block, Block>({
        editor: this.editor,
        pluginKey: new PluginKey('slashCommand'),
        char: '/',
        allow: ({ editor }) => !editor.isActive('codeBlock') && !editor.isActive('code'),
        items: ({ query }) => [...matchBlocks(query), ...matchFileBlock(query)],
        command: ({ editor, range, props }: { editor: Editor; range: Range; props: Block }) => props.run(editor, range),
        render: () => {
          let renderer: ReactRenderer<ListHandle, ListProps> | null = null;
          let unmount: (() => void) | null = null;
          return {
            onStart(props: SuggestionProps<Block, Block>) {
              renderer = new ReactRenderer(SlashList, { props: { items: props.items, command: props.command }, editor: props.editor });
              unmount = props.mount(renderer.element as HTMLElement);
            },
            onUpdate(props: SuggestionProps<Block, Block>) {
              renderer?.updateProps({ items: props.items, command: props.command });
            },
            onKeyDown({ event }: SuggestionKeyDownProps) {
              if (event.key === 'Escape') return false;
              return renderer?.ref?.onKeyDown(event) ?? false;
            },
            onExit() {
              unmount?.();
              renderer?.destroy();
              renderer = null;
              unmount = null;
            },
          };
        },
      }),
    ];
  },
});
