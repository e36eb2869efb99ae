; Edit scopes: an empty-selection instruction edit rewrites the smallest one around the cursor.
[
  (expression_statement) (return_statement) (assert_statement) (raise_statement)
  (import_statement) (import_from_statement) (pass_statement) (delete_statement)
  (if_statement) (for_statement) (while_statement) (with_statement) (try_statement)
  (match_statement) (function_definition) (class_definition) (decorated_definition)
] @scope
