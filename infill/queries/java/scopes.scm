; Edit scopes: an empty-selection instruction edit rewrites the smallest one around the cursor.
[
  (expression_statement) (local_variable_declaration) (field_declaration) (return_statement)
  (throw_statement) (if_statement) (for_statement) (enhanced_for_statement) (while_statement)
  (do_statement) (try_statement) (switch_expression) (method_declaration)
  (constructor_declaration) (class_declaration) (interface_declaration) (enum_declaration)
  (record_declaration) (import_declaration)
] @scope
