#version 330 core
// Vertex stage of the body's lit program. pyrender loads it by this file name and replaces the
// attribute locations (NORMAL_LOC, INST_M_LOC) with its buffer indices. The position products keep
// pyrender's order of operations, so the rasterised coverage is the same.
layout(location = 0) in vec3 position;
layout(location = NORMAL_LOC) in vec3 normal;
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 M;
uniform mat4 V;
uniform mat4 P;

out vec3 frag_position;
out vec3 frag_normal;

void main()
{
    gl_Position = P * V * M * inst_m * vec4(position, 1);
    frag_position = vec3(M * inst_m * vec4(position, 1.0));
    frag_normal = normalize(transpose(inverse(mat3(M * inst_m))) * normal);
}
