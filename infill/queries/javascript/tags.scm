; Definitions for cross-file context (infill/definitions.h): @definition is the whole
; definition, @name its name.
(function_declaration name: (identifier) @name) @definition
(generator_function_declaration name: (identifier) @name) @definition
(class_declaration name: (identifier) @name) @definition
(method_definition name: (property_identifier) @name) @definition
(lexical_declaration (variable_declarator name: (identifier) @name)) @definition
(variable_declaration (variable_declarator name: (identifier) @name)) @definition
(assignment_expression
  left: (member_expression property: (property_identifier) @name)
  right: [(arrow_function) (function_expression)]) @definition
