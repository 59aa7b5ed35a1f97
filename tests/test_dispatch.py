"""Every AST node class the checker can meet has a handler, so a new node cannot be skipped silently."""

from eigendsl.semantics.check import DECLARATIONS
from eigendsl.semantics.expressions import EXPRESSIONS
from eigendsl.semantics.statements import STATEMENTS
from eigendsl.syntax import ast


def concrete_subclasses(base: type) -> set[type]:
    out, stack = set(), [base]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            out.add(sub)
            stack.append(sub)
    return out


def test_every_expression_class_has_a_handler():
    assert concrete_subclasses(ast.Expr) == set(EXPRESSIONS)


def test_every_statement_class_has_a_handler():
    assert concrete_subclasses(ast.Stmt) == set(STATEMENTS)


def test_every_declaration_class_has_a_pass():
    assert concrete_subclasses(ast.Decl) == set(DECLARATIONS)


def test_handlers_take_the_class_they_are_registered_for():
    for table in (EXPRESSIONS, STATEMENTS):
        for cls, handler in table.items():
            annotation = handler.__annotations__.get("e", handler.__annotations__.get("s"))
            assert annotation in (f"ast.{cls.__name__}", None), (cls, handler)
