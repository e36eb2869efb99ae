; Bodies whose emptiness makes an inline completion multi-line, and argument lists whose
; unfinished state does the same.
(block) @body
(argument_list) @call
