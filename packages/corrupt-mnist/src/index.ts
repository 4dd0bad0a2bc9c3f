// Public API of corrupt-mnist.
export {};
