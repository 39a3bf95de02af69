"""The questionnaire built at runtime from a rubric: pages, saves that lose nothing, history,
submission."""
