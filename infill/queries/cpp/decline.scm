; Where automatic inline completion declines: comments, string and character literals.
(comment) @decline
(string_literal) @decline
(raw_string_literal) @decline
(char_literal) @decline
(system_lib_string) @decline
