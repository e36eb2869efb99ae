; Bodies whose emptiness makes an inline completion multi-line; argument lists for unfinished calls.
[(statement_block) (class_body) (switch_body) (object)] @body
(arguments) @call
