"""twin: an industrial digital-twin simulation engine for lights-out factory lines."""
