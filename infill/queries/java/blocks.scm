; Bodies whose emptiness makes an inline completion multi-line; argument lists for unfinished calls.
[(block) (class_body) (constructor_body) (interface_body) (enum_body) (switch_block)] @body
(argument_list) @call
