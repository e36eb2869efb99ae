; Where automatic inline completion declines: comments, string and character literals.
(line_comment) @decline
(block_comment) @decline
(string_literal) @decline
(character_literal) @decline
