; Edit scopes: an empty-selection instruction edit rewrites the smallest one around the cursor.
[
  (expression_statement) (lexical_declaration) (variable_declaration) (return_statement)
  (throw_statement) (import_statement) (export_statement) (if_statement) (for_statement)
  (for_in_statement) (while_statement) (do_statement) (try_statement) (switch_statement)
  (function_declaration) (generator_function_declaration) (method_definition)
  (class_declaration) (abstract_class_declaration) (interface_declaration)
  (type_alias_declaration) (enum_declaration) (public_field_definition)
] @scope
