/** The text of src/core/layout.ts for `text` (default: the current assembly/layout.ts). */
export declare function render(text?: string): string;
