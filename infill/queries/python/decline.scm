; Where automatic inline completion declines: comments and string literals.
(comment) @decline
(string) @decline
