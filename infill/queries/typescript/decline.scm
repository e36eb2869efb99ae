; Where automatic inline completion declines: comments, string and template literals, regexes.
(comment) @decline
(string) @decline
(template_string) @decline
(regex) @decline
