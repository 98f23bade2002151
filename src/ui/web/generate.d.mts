export declare const MODULES: string[];
export declare function render(): string;
