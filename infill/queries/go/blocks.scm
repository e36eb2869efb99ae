; Bodies whose emptiness makes an inline completion multi-line; argument lists for unfinished calls.
[(block) (field_declaration_list) (literal_value)] @body
(argument_list) @call
