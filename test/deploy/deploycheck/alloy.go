package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/grafana/alloy/syntax/ast"
	"github.com/grafana/alloy/syntax/parser"
	"github.com/grafana/alloy/syntax/token"
)

// block is one block of the file as JSON: its dotted name, its label, its attributes (literals
// as JSON values, references as {"ref": "a.b.c"}, calls as {"call": "sys.env", "args": [...]}),
// and its nested blocks in order.
type block struct {
	Name   string         `json:"name"`
	Label  string         `json:"label,omitempty"`
	Attrs  map[string]any `json:"attrs"`
	Blocks []block        `json:"blocks"`
}

func checkAlloy(path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	file, err := parser.ParseFile(path, src)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := json.MarshalIndent(body(file.Body).Blocks, "", "  ")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
}

func body(stmts ast.Body) block {
	b := block{Attrs: map[string]any{}, Blocks: []block{}}
	for _, stmt := range stmts {
		switch s := stmt.(type) {
		case *ast.AttributeStmt:
			b.Attrs[s.Name.Name] = expr(s.Value)
		case *ast.BlockStmt:
			inner := body(s.Body)
			inner.Name = s.GetBlockName()
			inner.Label = s.Label
			b.Blocks = append(b.Blocks, inner)
		}
	}
	return b
}

func expr(e ast.Expr) any {
	switch x := e.(type) {
	case *ast.LiteralExpr:
		switch x.Kind {
		case token.STRING:
			v, err := strconv.Unquote(x.Value)
			if err != nil {
				return x.Value
			}
			return v
		case token.NUMBER, token.FLOAT:
			v, err := strconv.ParseFloat(x.Value, 64)
			if err != nil {
				return x.Value
			}
			return v
		case token.BOOL:
			return x.Value == "true"
		case token.NULL:
			return nil
		}
		return x.Value
	case *ast.ArrayExpr:
		out := []any{}
		for _, el := range x.Elements {
			out = append(out, expr(el))
		}
		return out
	case *ast.ObjectExpr:
		out := map[string]any{}
		for _, f := range x.Fields {
			out[f.Name.Name] = expr(f.Value)
		}
		return out
	case *ast.IdentifierExpr, *ast.AccessExpr:
		return map[string]any{"ref": ref(e)}
	case *ast.CallExpr:
		args := []any{}
		for _, a := range x.Args {
			args = append(args, expr(a))
		}
		return map[string]any{"call": ref(x.Value), "args": args}
	default:
		return map[string]any{"expr": fmt.Sprintf("%T", e)}
	}
}

func ref(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.IdentifierExpr:
		return x.Ident.Name
	case *ast.AccessExpr:
		return ref(x.Value) + "." + x.Name.Name
	}
	return fmt.Sprintf("%T", e)
}
