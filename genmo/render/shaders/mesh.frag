#version 330 core
// Fragment stage of the body's lit program, for BodyRenderer's fixed rig: one metallic-roughness
// material without textures, one directional key light, one point fill light and ambient light.
// The shading model is pyrender's (Cook-Torrance: Schlick Fresnel, Schlick-Smith geometry, GGX
// distribution, gamma 2.2), written out for exactly these lights instead of looping over light
// arrays; llvmpipe runs it in about half the time, with the same pixels to within one grey level.

struct Material {
    vec4 base_color_factor;
    float metallic_factor;
    float roughness_factor;
};
struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
};
struct PointLight {
    vec3 color;
    float intensity;
    vec3 position;
};

uniform Material material;
uniform DirectionalLight directional_lights[1];
uniform PointLight point_lights[1];
uniform vec3 cam_pos;
uniform vec3 ambient_light;

in vec3 frag_position;
in vec3 frag_normal;
out vec4 frag_color;

const float PI = 3.141592653589793;
const float DIELECTRIC_F0 = 0.04;  // also the smallest roughness

// Light reflected towards the eye (v) from a light in direction l with the given radiance.
vec3 reflected(vec3 n, vec3 v, vec3 l, vec3 radiance, float roughness, vec3 f0, vec3 diffuse)
{
    vec3 h = normalize(l + v);
    float nl = clamp(dot(n, l), 0.001, 1.0);
    float nv = clamp(abs(dot(n, v)), 0.001, 1.0);
    float nh = clamp(dot(n, h), 0.0, 1.0);
    float vh = clamp(dot(v, h), 0.0, 1.0);
    float grazing = 1.0 - vh;
    float grazing2 = grazing * grazing;
    vec3 fresnel = f0 + (1.0 - f0) * (grazing2 * grazing2 * grazing);
    float k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    float geometry = nv / (nv * (1.0 - k) + k) * (nl / (nl * (1.0 - k) + k));
    float a2 = roughness * roughness * roughness * roughness;
    float spread = nh * nh * (a2 - 1.0) + 1.0;
    float distribution = a2 / (PI * spread * spread);
    vec3 brdf = (1.0 - fresnel) * diffuse / PI + fresnel * geometry * distribution / (4.0 * nl * nv + 0.001);
    return nl * radiance * brdf;
}

void main()
{
    float roughness = clamp(material.roughness_factor, DIELECTRIC_F0, 1.0);
    float metallic = clamp(material.metallic_factor, 0.0, 1.0);
    vec3 base = material.base_color_factor.rgb;
    vec3 diffuse = base * (1.0 - DIELECTRIC_F0) * (1.0 - metallic);
    vec3 f0 = mix(vec3(DIELECTRIC_F0), base, metallic);
    vec3 n = normalize(frag_normal);
    vec3 v = normalize(cam_pos - frag_position);

    DirectionalLight key = directional_lights[0];
    vec3 color = reflected(n, v, normalize(-key.direction), key.intensity * key.color, roughness, f0, diffuse);
    PointLight fill = point_lights[0];
    vec3 to_fill = fill.position - frag_position;
    color += reflected(n, v, normalize(to_fill), fill.intensity / dot(to_fill, to_fill) * fill.color,
                       roughness, f0, diffuse);
    color += base * ambient_light;
    frag_color = clamp(vec4(pow(color, vec3(1.0 / 2.2)), material.base_color_factor.a), 0.0, 1.0);
}
