; Bodies whose emptiness makes an inline completion multi-line; argument lists for unfinished calls.
[(compound_statement) (field_declaration_list) (enumerator_list) (initializer_list)] @body
(argument_list) @call
