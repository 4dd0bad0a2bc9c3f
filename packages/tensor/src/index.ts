// Public API of @dataver/tensor: tensor file formats and statistics, for every package above it.
export {};
