; Edit scopes: an empty-selection instruction edit rewrites the smallest one around the cursor.
[
  (expression_statement) (declaration) (field_declaration) (return_statement) (if_statement)
  (for_statement) (for_range_loop) (while_statement) (do_statement) (switch_statement)
  (try_statement) (throw_statement) (function_definition) (template_declaration)
  (class_specifier) (struct_specifier) (enum_specifier) (namespace_definition)
  (alias_declaration) (using_declaration) (type_definition) (preproc_include)
] @scope
