; Definitions for cross-file context (infill/definitions.h): @definition is the whole
; definition, @name its name. Prototypes and in-class declarations count: a header's
; declaration is what a caller needs.
(function_definition declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name)) @definition
(function_definition declarator: (function_declarator declarator: (qualified_identifier name: (identifier) @name))) @definition
(function_definition declarator: (reference_declarator (function_declarator declarator: [(identifier) (field_identifier)] @name))) @definition
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name))) @definition
(declaration declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name)) @definition
(field_declaration declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name)) @definition
(class_specifier name: (type_identifier) @name body: (_)) @definition
(struct_specifier name: (type_identifier) @name body: (_)) @definition
(union_specifier name: (type_identifier) @name body: (_)) @definition
(enum_specifier name: (type_identifier) @name body: (_)) @definition
(type_definition declarator: (type_identifier) @name) @definition
(alias_declaration name: (type_identifier) @name) @definition
(preproc_def name: (identifier) @name) @definition
(preproc_function_def name: (identifier) @name) @definition
