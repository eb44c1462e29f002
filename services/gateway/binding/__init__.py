"""Identity binding: a Hong Kong or Macau person's documents and certificate tied to one mainland subject."""
