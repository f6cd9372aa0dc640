"""App-side building blocks that do not need Streamlit (the workspace store). The engine is :mod:`rfm_core`."""
