; Bodies whose emptiness makes an inline completion multi-line; argument lists for unfinished calls.
[(block) (declaration_list) (field_declaration_list) (enum_variant_list) (match_block)] @body
(arguments) @call
