"""Documents made from stored results (the board pack): static SVG charts and self-contained HTML/PDF.
Presentation only, below the web layer: services call it, it never imports app.web."""
