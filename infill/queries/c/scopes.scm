; Edit scopes: an empty-selection instruction edit rewrites the smallest one around the cursor.
[
  (expression_statement) (declaration) (return_statement) (if_statement) (for_statement)
  (while_statement) (do_statement) (switch_statement) (function_definition)
  (struct_specifier) (enum_specifier) (type_definition) (preproc_include) (preproc_def)
] @scope
