; Where automatic inline completion declines: comments, string and rune literals.
(comment) @decline
(interpreted_string_literal) @decline
(raw_string_literal) @decline
(rune_literal) @decline
