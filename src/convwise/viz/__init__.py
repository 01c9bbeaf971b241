"""Pictures: figures of each convolution variant, model graph diagrams and the self-contained HTML report."""
