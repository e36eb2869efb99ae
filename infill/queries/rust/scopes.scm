; Edit scopes: an empty-selection instruction edit rewrites the smallest one around the cursor.
[
  (expression_statement) (let_declaration) (use_declaration) (function_item) (impl_item)
  (struct_item) (enum_item) (trait_item) (mod_item) (const_item) (static_item) (type_item)
  (macro_definition)
] @scope
