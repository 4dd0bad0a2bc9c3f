// Public API of trainer.
export {};
