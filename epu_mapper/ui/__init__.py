"""The Streamlit app: pages, shared glue, maps and pure text helpers."""
