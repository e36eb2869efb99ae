; Edit scopes: an empty-selection instruction edit rewrites the smallest one around the cursor.
[
  (expression_statement) (short_var_declaration) (assignment_statement) (var_declaration)
  (const_declaration) (return_statement) (if_statement) (for_statement) (defer_statement)
  (go_statement) (expression_switch_statement) (type_switch_statement) (select_statement)
  (inc_statement) (dec_statement) (send_statement) (function_declaration) (method_declaration)
  (type_declaration) (import_declaration)
] @scope
